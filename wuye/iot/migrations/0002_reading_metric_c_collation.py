"""PostgreSQL only: compare metric names byte by byte (collation "C") in the readings table and its unique index.

Every inserted reading is compared with its neighbours in the (device, at, metric) index; with the database's default
collation each comparison goes through the C library's locale rules, which costs about a quarter of the insert.
Metric names are ASCII identifiers (a-z, 0-9, _), so byte order is the only order they need. The model does not say
so (SQLite has no collation of that name): a later AlterField of `metric` must repeat this.
"""

from django.db import migrations


def to_c_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE iot_reading ALTER COLUMN metric TYPE varchar(40) COLLATE "C"')


def to_default_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE iot_reading ALTER COLUMN metric TYPE varchar(40) COLLATE \"default\"")


class Migration(migrations.Migration):
    dependencies = [("iot", "0001_initial")]

    operations = [migrations.RunPython(to_c_collation, to_default_collation)]
