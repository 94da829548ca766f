"""The training app's API paths; each module under training/api/ adds its own."""

from training.api import prelabelers

urlpatterns = []
urlpatterns += prelabelers.urlpatterns
