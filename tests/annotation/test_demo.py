"""The demo command: bounded, and done in one go whatever the count asked for."""

from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from annotation.demo_data import MAX_HEADLINES, headlines
from annotation.models import Project


def test_every_distinct_headline_can_be_made_and_no_more():
    rows = headlines(MAX_HEADLINES)

    texts = [row["data"]["text"] for row in rows]
    assert len(texts) == len(set(texts)) == MAX_HEADLINES
    with pytest.raises(ValueError, match=f"at most {MAX_HEADLINES}"):
        headlines(MAX_HEADLINES + 1)


def test_headlines_are_the_same_for_a_seed_and_balanced_across_sentiments():
    rows = headlines(300)

    assert rows == headlines(300)
    assert headlines(10) == rows[:10]
    counts = Counter(row["meta"]["template_sentiment"] for row in rows)
    assert counts == {"Positive": 100, "Negative": 100, "Neutral": 100}


@pytest.mark.django_db
@pytest.mark.parametrize("tasks", [0, MAX_HEADLINES + 1, 5000])
def test_demo_refuses_a_task_count_it_cannot_make(tasks):
    with pytest.raises(CommandError, match=f"between 1 and {MAX_HEADLINES}"):
        call_command("tessera_demo", "--tasks", str(tasks))
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_demo_with_the_largest_count_sets_up_the_project(capsys, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    call_command("tessera_demo", "--tasks", str(MAX_HEADLINES))

    project = Project.objects.get(title="Financial news sentiment")
    assert project.tasks.count() == MAX_HEADLINES
    assert f"{MAX_HEADLINES} tasks" in capsys.readouterr().out
