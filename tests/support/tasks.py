from celery import shared_task

from apps.core.tasks import TenantTask
from tests.support.models import Note


@shared_task(base=TenantTask, bind=True)
def append_to_note(self, tenant_id: int, note_id: int, suffix: str) -> str:
    """Runs inside the tenant scope opened by TenantTask: the scoped manager and RLS both allow it."""
    note = Note.objects.get(pk=note_id)
    note.body = f"{note.body}{suffix}"
    note.save(update_fields=["body"])
    return note.body
