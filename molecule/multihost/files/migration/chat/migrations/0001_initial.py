from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="RoomVisit",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("room", models.CharField(max_length=100)),
                ("visited_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
