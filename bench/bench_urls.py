"""The real URLs plus /bench/insert: the cheapest authenticated write through the same stack as the API (django-ninja,
the same bearer-token authentication, a JSON body parsed by a schema, a JSON answer), inserting one row. The
difference between it and POST /api/v1/workorders is what the work-order logic itself costs."""

from django.urls import path
from ninja import NinjaAPI, Schema

from config.api import BearerToken
from config.urls import urlpatterns as real_urlpatterns
from wuye.accounts.models import LoginFailure
from wuye.core import clock

bench_api = NinjaAPI(urls_namespace="bench", auth=[BearerToken()], docs_url=None, openapi_url=None)


class Anything(Schema):
    description: str = ""


class Inserted(Schema):
    id: int


@bench_api.post("/insert", response={201: Inserted})
def trivial_insert(request, payload: Anything):
    row = LoginFailure.objects.create(identifier=f"bench:{request.user.id}:{len(payload.description)}", at=clock.now())
    return 201, {"id": row.id}


urlpatterns = [path("bench/", bench_api.urls), *real_urlpatterns]
