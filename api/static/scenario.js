// Poll a scenario run's progress fragment until it finishes, then reload for the figures.
(function () {
  const box = document.getElementById("progress-box");
  if (!box || !box.dataset.poll) return;
  const timer = setInterval(async () => {
    const response = await fetch(`/scenarios/${box.dataset.scenarioId}/progress`, {credentials: "same-origin"});
    if (!response.ok) return;
    box.innerHTML = await response.text();
    const status = document.getElementById("progress").dataset.status;
    if (status !== "queued" && status !== "running") { clearInterval(timer); location.reload(); }
  }, 500);
})();
