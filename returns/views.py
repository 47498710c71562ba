from django.http import JsonResponse


def healthz(request):
    """Alive: the process answers. It asks nothing of the database or the broker, so an outage
    there does not get healthy processes restarted; /readyz (core/views.py) checks those."""
    return JsonResponse({"status": "ok"})
