"""The training app's API paths; each module under training/api/ adds its own."""

from training.api import ml, prelabelers

urlpatterns = []
urlpatterns += prelabelers.urlpatterns
urlpatterns += ml.urlpatterns
