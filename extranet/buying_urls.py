"""Staff UI routes of buying, under /buying/: the proposed-order queue of assigned buyers, and messages
with their suppliers."""

from django.urls import path

from extranet.views import buying, messages

app_name = "buying"

urlpatterns = [
    path("orders/", buying.QueueView.as_view(), name="queue"),
    path("orders/<int:pk>/", buying.BuyerOrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/<slug:action>/", buying.BuyerOrderActionView.as_view(), name="order_action"),
    path("messages/", messages.StaffThreadListView.as_view(), name="threads"),
    path("messages/<int:pk>/", messages.StaffThreadView.as_view(), name="thread"),
]
