from django.urls import re_path

from annotation.api import (
    agreement,
    annotator_metrics,
    comments,
    labeling,
    prelabel_stats,
    project_members,
    review,
    views,
)

# Label Studio's clients call some paths with a trailing slash and some without; accept both.
urlpatterns = [
    re_path(r"^projects/?$", views.ProjectListView.as_view(), name="project-list"),
    re_path(r"^projects/validate/?$", views.ConfigValidateView.as_view(), name="config-validate"),
    re_path(r"^projects/(?P<project_id>\d+)/?$", views.ProjectDetailView.as_view(), name="project-detail"),
    re_path(
        r"^projects/(?P<project_id>\d+)/validate/?$",
        views.ProjectValidateView.as_view(),
        name="project-validate",
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/import/?$", views.ProjectImportView.as_view(), name="project-import"
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/imports/(?P<job_id>\d+)/?$",
        views.ImportJobView.as_view(),
        name="import-job",
    ),
    re_path(r"^projects/(?P<project_id>\d+)/next/?$", views.ProjectNextView.as_view(), name="project-next"),
    re_path(
        r"^projects/(?P<project_id>\d+)/tasks/?$", views.ProjectTasksView.as_view(), name="project-tasks"
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/import/predictions/?$",
        views.ProjectPredictionImportView.as_view(),
        name="project-import-predictions",
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/tasks/actions/?$",
        views.ProjectTaskActionsView.as_view(),
        name="project-task-actions",
    ),
    re_path(r"^dm/actions/?$", views.DataManagerActionsView.as_view(), name="dm-actions"),
    re_path(r"^tasks/?$", views.TaskListView.as_view(), name="task-list"),
    re_path(r"^tasks/(?P<task_id>\d+)/history/?$", views.TaskHistoryView.as_view(), name="task-history"),
    re_path(r"^tasks/(?P<task_id>\d+)/?$", views.TaskDetailView.as_view(), name="task-detail"),
    re_path(
        r"^tasks/(?P<task_id>\d+)/annotations/?$",
        views.TaskAnnotationsView.as_view(),
        name="task-annotations",
    ),
    re_path(r"^tasks/(?P<task_id>\d+)/drafts/?$", views.TaskDraftsView.as_view(), name="task-drafts"),
    re_path(r"^tasks/(?P<task_id>\d+)/lock/?$", views.TaskLockView.as_view(), name="task-lock"),
    re_path(
        r"^annotations/(?P<annotation_id>\d+)/?$",
        views.AnnotationDetailView.as_view(),
        name="annotation-detail",
    ),
    re_path(r"^drafts/(?P<draft_id>\d+)/?$", views.DraftDetailView.as_view(), name="draft-detail"),
    re_path(r"^predictions/?$", views.PredictionListView.as_view(), name="prediction-list"),
    re_path(
        r"^predictions/(?P<prediction_id>\d+)/?$",
        views.PredictionDetailView.as_view(),
        name="prediction-detail",
    ),
]

# The annotator's browser app (issue 4): progress, skip with a reason, recent annotations.
urlpatterns += labeling.urlpatterns
urlpatterns += project_members.urlpatterns
urlpatterns += annotator_metrics.urlpatterns
urlpatterns += agreement.urlpatterns
urlpatterns += comments.urlpatterns
urlpatterns += review.urlpatterns
urlpatterns += prelabel_stats.urlpatterns
