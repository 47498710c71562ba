from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know and fields the caller may not set, instead of ignoring them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name in data:
                field = self.fields.get(name)
                if field is None:
                    errors[name] = [serializers.ErrorDetail("This field is not accepted.", code="unknown_field")]
                elif field.read_only:
                    errors[name] = [serializers.ErrorDetail("This field is read-only.", code="read_only_field")]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, as every error response is shaped."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    errors = serializers.ListField(child=serializers.DictField(), required=False,
                                   help_text="Per-field errors: field, code, detail.")


def validated(serializer_class, request, partial: bool = False) -> dict:
    """The request's body checked by `serializer_class`; a bad one is a 400 with every field's error."""
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
