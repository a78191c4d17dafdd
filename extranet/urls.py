"""Routes of the supplier extranet, under /extranet/."""

from django.urls import path

from extranet.views import account, auth, dashboards, messages, orders, team, two_factor

app_name = "extranet"

urlpatterns = [
    path("login/", auth.SupplierLoginView.as_view(), name="login"),
    path("logout/", auth.SupplierLogoutView.as_view(), name="logout"),
    path("", dashboards.DashboardView.as_view(), name="dashboard"),
    path("inventory/", dashboards.InventoryView.as_view(), name="inventory"),
    path("inventory/<int:pk>/", dashboards.ProductInventoryView.as_view(), name="product_inventory"),
    path("sales/", dashboards.SalesView.as_view(), name="sales"),
    path("profitability/", dashboards.ProfitabilityView.as_view(), name="profitability"),
    path("orders/", orders.OrderListView.as_view(), name="order_list"),
    path("orders/new/", orders.OrderCreateView.as_view(), name="order_new"),
    path("orders/<int:pk>/", orders.OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/edit/", orders.OrderEditView.as_view(), name="order_edit"),
    path("orders/<int:pk>/<slug:action>/", orders.OrderActionView.as_view(), name="order_action"),
    path("api-token/", account.ApiTokenView.as_view(), name="api_token"),
    path("messages/", messages.SupplierThreadListView.as_view(), name="threads"),
    path("messages/<int:pk>/", messages.SupplierThreadView.as_view(), name="thread"),
    path("two-factor/", two_factor.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("two-factor/verify/", two_factor.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("team/", team.TeamView.as_view(), name="team"),
    path("team/<int:pk>/", team.MemberView.as_view(), name="member"),
    path("invitations/<str:token>/", team.InvitationAcceptView.as_view(), name="invitation_accept"),
]
