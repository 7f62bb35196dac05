from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from config.api import api
from wuye.accounts import views as account_views
from wuye.core import views as core_views

admin.site.site_header = _("wuye administration")
admin.site.site_title = _("wuye")
admin.site.index_title = _("Master data")

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("wuye.accounts.urls")),
    path("portal/", include("wuye.portal.urls")),
    path("desk/", include("wuye.desk.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
