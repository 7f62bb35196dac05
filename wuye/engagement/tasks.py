from django_tasks import task

from wuye.core import clock

from . import services


@task()
def notify_invitees(survey_id: int) -> int:
    told = services.invitations_notify(survey_id=survey_id, now=clock.now())
    if told == services.NOTIFY_BATCH:
        # More are waiting: one batch per run keeps each run short; the next run picks up where this one stopped.
        notify_invitees.enqueue(survey_id=survey_id)
    return told


@task()
def classify_text_answers(response_id: int) -> int:
    return services.text_answers_classify(response_id=response_id)
