// The desk's reassign action (console.js draws the button): the new assignee is chosen among
// those GET /v1/tasks/{id}/assignees lists, by the rule POST /v1/tasks/{id}/reassign checks.
"use strict";

async function openReassign(taskId, opener) {
  const task = S.tasks.get(taskId);
  if (!task) return;
  const box = $("reassign");
  box.dataset.task = taskId;
  S.reassignFrom = opener;
  $("reassign-task").textContent = `${t(`kind.${task.kind}`)} · ${t(`agency.${task.agency}`)} · ${assigneeLabel(task)}`;
  $("reassign-message").textContent = "";
  const choices = await pages(`/v1/tasks/${encodeURIComponent(taskId)}/assignees?limit=100`);
  $("reassign-to").replaceChildren(...choices.map((c) => {
    const id = c.assignee_user_id || c.assignee_org_id;
    const option = new Option(id, JSON.stringify(c));
    option.dataset.assignee = id;
    return option;
  }));
  $("reassign-submit").disabled = choices.length === 0;
  if (!choices.length) $("reassign-message").textContent = t("reassign.none");
  box.hidden = false;
  $("reassign-to").focus();
}

async function submitReassign() {
  const taskId = $("reassign").dataset.task;
  const choice = JSON.parse($("reassign-to").value || "{}");
  const body = Object.fromEntries(Object.entries(choice).filter(([, v]) => v));
  const r = await api("POST", `/v1/tasks/${encodeURIComponent(taskId)}/reassign`, body);
  if (!r.ok) { $("reassign-message").textContent = t("reassign.failed"); return; }
  const view = rowOf(await r.json());
  S.tasks.set(taskId, view);
  closeReassign();
  render();
}

function closeReassign() {
  if ($("reassign").hidden) return;
  $("reassign").hidden = true;
  if (S.reassignFrom && S.reassignFrom.isConnected) S.reassignFrom.focus();
}

