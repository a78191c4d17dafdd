"""Staff UI routes of the customers app, under /customers/."""

from django.urls import path

from customers.privacy import views as privacy
from customers.views import customers, imports, merge

app_name = "customers"

urlpatterns: list = [
    # Each feature adds its routes here.
    path("", customers.CustomerListView.as_view(), name="customer_list"),
    path("<int:pk>/", customers.CustomerDetailView.as_view(), name="customer_detail"),
    path("<int:pk>/timeline/", customers.TimelinePageView.as_view(), name="customer_timeline"),
    path("<int:pk>/timeline/new/", customers.TimelineNewView.as_view(), name="customer_timeline_new"),
    path("<int:pk>/timeline/log/", customers.InteractionLogView.as_view(), name="customer_log"),
    path("merges/", merge.MergeListView.as_view(), name="merge_list"),
    path("merges/new/", merge.MergeCreateView.as_view(), name="merge_new"),
    path("merges/<int:pk>/", merge.MergeDetailView.as_view(), name="merge_detail"),
    path("merges/<int:pk>/undo/", merge.MergeUndoView.as_view(), name="merge_undo"),
    path("imports/", imports.ImportListView.as_view(), name="import_list"),
    path("imports/new/", imports.ImportCreateView.as_view(), name="import_new"),
    path("imports/<int:pk>/", imports.ImportDetailView.as_view(), name="import_detail"),
    path("imports/<int:pk>/preview/", imports.ImportPreviewView.as_view(), name="import_preview"),
    path("imports/<int:pk>/start/", imports.ImportStartView.as_view(), name="import_start"),
    path("imports/<int:pk>/progress/", imports.ImportProgressView.as_view(), name="import_progress"),
    path(
        "imports/<int:pk>/rejected-rows.csv", imports.ImportErrorsDownloadView.as_view(), name="import_errors"
    ),
    # Privacy (customers.privacy).
    path("<int:pk>/reveal/<str:field>/", privacy.PersonalRevealView.as_view(), name="personal_reveal"),
    path("<int:pk>/consents/", privacy.ConsentPanelView.as_view(), name="consent_panel"),
    path("privacy/requests/", privacy.SubjectRequestListView.as_view(), name="subject_requests"),
    path("privacy/requests/new/", privacy.SubjectRequestCreateView.as_view(), name="subject_request_new"),
    path("privacy/review/", privacy.AccessReviewView.as_view(), name="access_review"),
    path("privacy/retention/", privacy.RetentionReportView.as_view(), name="retention_report"),
]
