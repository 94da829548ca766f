"""The training app's API paths; each module under training/api/ adds its own."""

from training.api import base_models, ml, models, prelabelers, training_jobs

urlpatterns = []
urlpatterns += prelabelers.urlpatterns
urlpatterns += ml.urlpatterns
urlpatterns += base_models.urlpatterns
urlpatterns += training_jobs.urlpatterns
urlpatterns += models.urlpatterns
