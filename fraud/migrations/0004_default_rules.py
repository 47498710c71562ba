from django.db import migrations

# The defaults as they were when this migration was written; later changes to fraud/rules.py
# reach existing databases through the admin, never by rewriting what staff tuned.
RULES = [
    ("high_return_rate", 30, {"min_rate": "0.5", "min_orders": 3}),
    ("many_open_returns", 25, {"min_open_returns": 3}),
    ("risky_category", 15, {"categories": ["electronics"]}),
    ("high_value", 20, {"min_amount": "1000"}),
    ("label_not_scanned", 20, {}),
    ("damage_claimed_found_new", 40, {}),
    ("wardrobing", 40, {"min_unit_price": "100", "days_before_window_end": 3}),
]


def create_rules(apps, schema_editor):
    FraudRule = apps.get_model("fraud", "FraudRule")
    for kind, weight, params in RULES:
        FraudRule.objects.get_or_create(kind=kind, defaults={"weight": weight, "params": params})


class Migration(migrations.Migration):
    dependencies = [("fraud", "0003_rules_and_profile_aggregates")]
    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]
