"""The manager's whole flow in one chained test, in English and in Japanese, with the database checked
after each step.

A manager switches the UI language in the user menu (``User.language``, so the browser's own language is
the other one on purpose), creates a NER project from the Japanese template in the wizard, edits a label,
sees the server's validation error beside its line and fixes it; uploads a CSV of 2,000 rows and a JSON
Lines file, the CSV as a background job on a real Celery worker (TESSERA_SYNC_IMPORT_MAX_BYTES is lowered
for the live server and the worker); the manager invites an annotator from the Members page, who accepts
the link in a browser of their own, is added to the members-only project by the manager, and labels two
tasks; the manager filters the data table by label
and by annotator, opens a task read-only (no TaskLock row), bulk-deletes a selection, changes the overlap
in Settings and exports every task of a filter but one (the file checked against the database).
"""

import json

import pytest
import redis
from playwright.sync_api import expect

from annotation.models import Annotation, ImportJob, Project, ProjectMember, Task, TaskLock
from annotation.services.annotations import annotation_create
from tessera.models import Invitation, Membership, User
from tests.conftest import span
from tests.e2e.helpers.account import set_language
from tests.e2e.helpers.data_table import (
    add_filter,
    apply_filters,
    open_read_only,
    open_table,
    row_box,
    search,
    select_page,
    shown_ids,
    wait_for_row_count,
    wait_for_rows,
)
from tests.e2e.helpers.export_page import downloaded
from tests.e2e.helpers.import_page import csv_rows, open_import, upload_file
from tests.e2e.helpers.members import accept_invite, invite, open_members, restrict_project_to
from tests.e2e.helpers.settings_page import open_settings, save
from tests.e2e.helpers.wizard import palette_labels, wait_palette_has, wait_valid, xml_line, xml_text
from tests.integration.conftest import (  # noqa: F401 - fixtures
    _redis_url,
    broker_url,
    start_file_broker_worker,
    start_worker,
)

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CSV_ROWS = 2000
JSONL = '{"text": "From lines one"}\n{"data": {"text": "From lines two"}, "meta": {"n": 2}}\n'
NEWCOMER = "hanako@acme.test"
NEWCOMER_PASSWORD = "a long passphrase 7"
# A selection to delete: the tasks whose text holds both words (199, 1199 and 1990 to 1999).
DELETE_SEARCH = "Headline 199"
# The filter to export: every CSV row left (the JSON Lines tasks do not match).
EXPORT_SEARCH = "Headline"

STRINGS = {
    "en": {
        "browser_locale": "ja-JP",
        "new_project": "New project",
        "ner_ja_title": "Named entities in Japanese",
        "unknown_to_name": 'toName="txt" names no tag of this config.',
        "large_file": "large file",
        "imported": f"Imported {CSV_ROWS + 2:,} tasks",
        "delete_tasks": "Delete tasks",
        "select_all": "Select all {n} tasks that match",
        "export_selection": "Export selection",
        "exported": "The export is downloaded.",
        "save": "Save changes",
        "saved": "Saved.",
    },
    "ja": {
        "browser_locale": "en-US",
        "new_project": "新規プロジェクト",
        "ner_ja_title": "日本語の固有表現抽出",
        "unknown_to_name": 'toName="txt" に一致する name のタグがこの設定にありません。',
        "large_file": "大きなファイル",
        "imported": f"{CSV_ROWS + 2:,} 件のタスクをインポートしました",
        "delete_tasks": "タスクを削除",
        "select_all": "条件に一致する {n} 件のタスクをすべて選択",
        "export_selection": "選択をエクスポート",
        "exported": "エクスポートをダウンロードしました。",
        "save": "変更を保存",
        "saved": "保存しました。",
    },
}


@pytest.fixture
def background_worker(request, transactional_db):
    """A real Celery worker on the test database: on Redis (production's broker) where it answers, else on
    the demo's file broker, so that the flow never skips for want of Redis. Either fixture lowers
    TESSERA_SYNC_IMPORT_MAX_BYTES to 1 KB for the live server (same process) and the worker."""
    try:
        client = redis.Redis.from_url(_redis_url(), socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        client.close()
        starter = request.getfixturevalue("start_worker")
    except redis.RedisError:
        starter = request.getfixturevalue("start_file_broker_worker")
    return starter()


def matches(task: Task, words: str) -> bool:
    """What the search box finds: every word in the text, case aside."""
    return all(word.lower() in task.data["text"].lower() for word in words.split())


def labels_of(task: Task) -> set[str]:
    return {
        label
        for annotation in task.annotations.all()
        for r in annotation.result
        for label in r["value"]["labels"]
    }


@pytest.mark.parametrize("language", ["en", "ja"])
def test_manager_runs_a_ner_project_from_the_wizard_to_the_export(
    language, open_session, cast, background_worker, settings
):
    strings = STRINGS[language]
    worker = background_worker
    manager_user = cast.users["manager"]
    manager = open_session(manager_user.email, locale=strings["browser_locale"])
    page = manager.page

    # 0: the language, from the user's own setting (the browser asks for the other one).
    set_language(manager, language)
    manager_user.refresh_from_db()
    assert manager_user.language == language

    # 1: the wizard: title, the Japanese NER template.
    page.locator("a", has_text=strings["new_project"]).first.click()
    page.wait_for_url("**/projects/new/")
    page.fill("#project-title", "決算ニュースの固有表現")
    page.locator("[data-action=next]").click()
    page.wait_for_url("**/projects/new/?step=template")
    card = page.locator(".template-card[data-template=ner_ja]")
    assert strings["ner_ja_title"] in card.inner_text()
    card.click()
    page.locator("[data-action=next]").click()
    page.wait_for_url("**/projects/new/?step=labels")
    wait_valid(page)
    assert palette_labels(page) == ["人名", "組織", "地名", "日付"]

    # Edit a label in the form: the XML and the live preview follow.
    control = page.locator("fieldset.label-control[data-control=label]")
    control.locator("li.label-row").nth(0).locator(".label-name").fill("人物")
    wait_palette_has(page, "人物")
    wait_valid(page)
    good = xml_text(page)
    assert '<Label value="人物"' in good and "人名" not in good

    # A validation error from the server, beside the line it concerns; then fixed.
    broken = good.replace('toName="text"', 'toName="txt"')
    page.fill("#xml-config", broken)
    note = page.locator(f".xml-note[data-line='{xml_line(broken, 'toName=')}']")
    note.wait_for()
    assert strings["unknown_to_name"] in note.inner_text()
    page.fill("#xml-config", good)
    wait_valid(page)
    assert page.locator(".xml-note").count() == 0
    assert not Project.objects.filter(title="決算ニュースの固有表現").exists()

    page.locator("[data-action=create]").click()
    page.wait_for_url("**/projects/new/?step=import&project=*")
    project = Project.objects.get(title="決算ニュースの固有表現")
    assert (project.organization, project.created_by, project.label_config) == (cast.org, manager_user, good)

    # 2: import a JSON Lines file and a CSV of 2,000 rows (its text column mapped). Together they pass
    # the lowered sync limit, so each is its own request: the CSV (last, so that its job's counters stay
    # on the page) a background job on the worker.
    open_import(manager, project)
    page.set_input_files(
        "#import-files",
        [upload_file("more.jsonl", JSONL.encode()), upload_file("headlines.csv", csv_rows(CSV_ROWS))],
    )
    page.wait_for_selector("#import-preview:not([hidden])")
    assert strings["large_file"] in page.locator('.import-file[data-name="headlines.csv"]').inner_text()
    page.select_option("#import-map-text", "sentence")
    page.click("#import-start")
    # The job's counters are drawn while it runs; the total comes once both files are in.
    page.locator("#import-rows-checked").wait_for(timeout=60_000)
    expect(page.locator("#import-done")).to_contain_text(strings["imported"], timeout=90_000)
    assert page.locator("#import-tasks-written").inner_text() == f"{CSV_ROWS:,}"
    jobs = list(ImportJob.objects.filter(project=project).values_list("state", "task_count", "column_map"))
    assert jobs == [("completed", CSV_ROWS, {"sentence": "text"})], worker.log()
    assert "annotation.tasks.run_import_job" in worker.log()
    tasks = list(Task.objects.filter(project=project).order_by("inner_id"))
    assert len(tasks) == CSV_ROWS + 2
    assert [task.data for task in tasks[:2]] == [{"text": "From lines one"}, {"text": "From lines two"}]
    assert tasks[2].data == {"text": "Headline 0, with a comma", "source": "wire"}
    project.refresh_from_db()
    assert project.task_count == CSV_ROWS + 2
    # An annotator's earlier work on the third task, so that the filters below have something to leave out.
    annotation_create(task=tasks[2], user=cast.users["annotator"], result=[span(0, 8, "人物", "Headline")])

    # 3: the manager invites an annotator, who accepts the link in a browser of their own.
    open_members(manager)
    url = invite(manager, NEWCOMER)
    invitation = Invitation.objects.get(email=NEWCOMER)
    assert (invitation.role, invitation.invited_by, invitation.accepted_at) == (
        "annotator",
        manager_user,
        None,
    )

    newcomer = open_session(locale=strings["browser_locale"])
    accept_invite(newcomer, url, first_name="Hanako", last_name="Sato", password=NEWCOMER_PASSWORD)
    hanako = User.objects.get(email=NEWCOMER)
    assert Membership.objects.get(user=hanako, organization=cast.org).role == "annotator"
    invitation.refresh_from_db()
    assert invitation.accepted_by == hanako
    set_language(newcomer, language)

    # The manager restricts the project to its members and adds the newcomer.
    restrict_project_to(manager, project, "hanako")
    project.refresh_from_db()
    assert project.members_only
    assert list(ProjectMember.objects.filter(project=project).values_list("user", flat=True)) == [hanako.pk]

    # The newcomer labels the first two tasks: "From" as 人物, then as 組織.
    newcomer.label(project)
    for key, label, task in (("1", "人物", tasks[0]), ("2", "組織", tasks[1])):
        assert newcomer.task_id() == task.pk
        newcomer.press(*["Shift+ArrowRight"] * 4, key)
        newcomer.submit()
        annotation = Annotation.objects.get(task=task)
        assert annotation.completed_by == hanako
        assert [
            (r["value"]["start"], r["value"]["end"], r["value"]["labels"]) for r in annotation.result
        ] == [(0, 4, [label])]
    # The labeling page now holds the next free task (the fourth: the third is labeled), and its lock.
    assert newcomer.task_id() == tasks[3].pk
    locks = list(TaskLock.objects.values_list("task", "user"))
    assert locks == [(tasks[3].pk, hanako.pk)]

    # 4: the data table filtered by label (two tasks hold 人物) and then also by annotator (one).
    open_table(manager, project)
    add_filter(page, "labels", "contains", "人物")
    apply_filters(page)
    wait_for_rows(page, [tasks[0].pk, tasks[2].pk])
    assert {t.pk for t in Task.objects.filter(project=project) if "人物" in labels_of(t)} == {
        tasks[0].pk,
        tasks[2].pk,
    }
    add_filter(page, "annotators", "contains", str(hanako.pk), select_value=True)
    apply_filters(page)
    wait_for_rows(page, [tasks[0].pk])
    assert "f=" in page.url

    # The read-only view of that task: the annotation drawn, inert; no lock taken, no queue changed.
    dialog = open_read_only(page, tasks[0].pk)
    assert dialog.locator(".read-only-editor").first.evaluate("node => node.inert") is True
    assert NEWCOMER in dialog.inner_text()
    assert list(TaskLock.objects.values_list("task", "user")) == locks
    assert not TaskLock.objects.filter(user=manager_user).exists()
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    # 5: bulk-delete a selection: the tasks that match a search.
    doomed = [task.pk for task in tasks if matches(task, DELETE_SEARCH)]
    assert len(doomed) == 12
    open_table(manager, project)
    search(page, DELETE_SEARCH)
    wait_for_rows(page, doomed)
    select_page(page)
    page.locator(".selection-bar button", has_text=strings["delete_tasks"]).click()
    page.click("dialog.confirm button.danger")
    wait_for_row_count(page, 0)
    assert not Task.objects.filter(pk__in=doomed).exists()
    assert Task.objects.filter(project=project).count() == CSV_ROWS + 2 - len(doomed)
    project.refresh_from_db()
    assert project.task_count == CSV_ROWS + 2 - len(doomed)

    # 6: the overlap, in Settings.
    open_settings(manager, project)
    page.fill("#field-maximum_annotations", "2")
    assert save(page, strings["save"]) == strings["saved"]
    project.refresh_from_db()
    assert project.maximum_annotations == 2

    # 7: export a filter's selection: every task that matches a search (the CSV's), but one unchecked.
    open_table(manager, project)
    search(page, EXPORT_SEARCH)
    # The unfiltered first page also has 50 rows: the searched one is the one without the JSON Lines tasks.
    page.wait_for_function(
        "(lines) => { const ids = [...document.querySelectorAll('table.tasks tbody tr[data-task]')]"
        ".map((row) => Number(row.dataset.task)); return ids.length === 50 && !ids.some((id) => lines.includes(id)); }",
        arg=[tasks[0].pk, tasks[1].pk],
    )
    select_page(page)
    expected = {task.pk for task in Task.objects.filter(project=project) if matches(task, EXPORT_SEARCH)}
    assert len(expected) == CSV_ROWS - len(doomed)
    # More matches than the count cap: the page says "1,000+", and the export still takes every one.
    cap = settings.TESSERA_TASK_FILTER_COUNT_CAP
    assert len(expected) > cap
    page.locator(".selection-bar button.link", has_text=strings["select_all"].format(n=f"{cap:,}+")).click()
    left_out = shown_ids(page)[-1]
    assert left_out != tasks[2].pk
    row_box(page, left_out).uncheck()
    name, body = downloaded(
        page, lambda: page.locator(".selection-bar button", has_text=strings["export_selection"]).click()
    )
    page.locator("p.notice[role=status]", has_text=strings["exported"]).wait_for()
    assert name == f"project-{project.pk}-JSON.json"
    exported = {task["id"]: task for task in json.loads(body)}
    assert set(exported) == expected - {left_out}
    # The labeled one among them carries its annotation.
    assert [r["value"]["labels"] for r in exported[tasks[2].pk]["annotations"][0]["result"]] == [["人物"]]

    assert not (manager.errors or newcomer.errors)
