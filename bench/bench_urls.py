"""The real URLs plus /bench/insert: the cheapest authenticated write, to compare the full work-order create with."""

import json

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as real_urlpatterns
from wuye.accounts import services as account_services
from wuye.accounts.models import LoginFailure
from wuye.core import clock


@csrf_exempt
def trivial_insert(request):
    """Authenticate the bearer token like the API does, parse the JSON body, insert one row, answer 201."""
    user = account_services.api_token_authenticate(raw=request.headers.get("Authorization", "")[7:])
    if user is None:
        return JsonResponse({"code": "unauthenticated"}, status=401)
    body = json.loads(request.body or b"{}")
    row = LoginFailure.objects.create(identifier=f"bench:{user.id}:{len(body)}", at=clock.now())
    return JsonResponse({"id": row.id}, status=201)


urlpatterns = [path("bench/insert", trivial_insert), *real_urlpatterns]
