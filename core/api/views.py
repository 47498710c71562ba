from rest_framework.views import APIView

from core.api.idempotency import METHODS, IdempotentMixin


class ApiView(IdempotentMixin, APIView):
    """Base for every API operation: scoped permissions, throttling, problem details, idempotency."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        name = request.method.lower()
        if request.method in METHODS and hasattr(self, name):
            handler = getattr(self, name)
            setattr(self, name, lambda req, *a, **kw: self.handle_idempotently(req, handler, *a, **kw))
