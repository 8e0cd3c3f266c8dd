// Poll a batch run's progress fragment until it finishes, then reload for the results.
(function () {
  const box = document.getElementById("progress-box");
  if (!box || !box.dataset.poll) return;
  const timer = setInterval(async () => {
    const response = await fetch(`/runs/${box.dataset.runId}/progress`, {credentials: "same-origin"});
    if (!response.ok) return;
    box.innerHTML = await response.text();
    const status = document.getElementById("progress").dataset.status;
    if (status !== "queued" && status !== "running") { clearInterval(timer); location.reload(); }
  }, 500);
})();
