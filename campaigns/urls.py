"""Staff UI routes of the campaigns app, under /segments/."""

from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.SegmentListView.as_view(), name="segment_list"),
    path("new/", views.SegmentEditView.as_view(), name="segment_new"),
    path("builder/", views.SegmentBuilderView.as_view(), name="segment_builder"),
    path("at-risk/", views.AtRiskView.as_view(), name="at_risk"),
    path("<int:pk>/", views.SegmentDetailView.as_view(), name="segment_detail"),
    path("<int:pk>/edit/", views.SegmentEditView.as_view(), name="segment_edit"),
    path("<int:pk>/refresh/", views.SegmentRefreshView.as_view(), name="segment_refresh"),
    path("<int:pk>/members/", views.StaticMembersView.as_view(), name="segment_members"),
    path("<int:pk>/members.csv", views.SegmentExportView.as_view(), name="segment_export"),
]
