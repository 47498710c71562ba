from django.db import migrations

REASONS = [
    ("wrong_size", "Wrong size or fit", False),
    ("not_as_described", "Not as described", False),
    ("changed_mind", "Changed my mind", False),
    ("arrived_damaged", "Arrived damaged", True),
    ("defective", "Defective or does not work", True),
    ("wrong_item", "Wrong item sent", False),
    ("better_price", "Found a better price", False),
]


def create_defaults(apps, schema_editor):
    ReturnPolicy = apps.get_model("returns", "ReturnPolicy")
    ReturnReason = apps.get_model("returns", "ReturnReason")
    if not ReturnPolicy.objects.filter(category=None).exists():
        ReturnPolicy.objects.create(category=None, window_days=30, restocking_fee_conditions=["like_new", "damaged"])
    for position, (code, label, claims_damage) in enumerate(REASONS):
        ReturnReason.objects.get_or_create(code=code, defaults={"label": label, "claims_damage": claims_damage,
                                                                "position": position})


class Migration(migrations.Migration):
    dependencies = [("returns", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
