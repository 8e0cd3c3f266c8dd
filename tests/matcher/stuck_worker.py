"""A worker that never answers, and starts a child that outlives it unless its group is
stopped: what HiGHS stuck past its clock looks like to the caller. It writes the child's pid
where `STUCK_WORKER_PID_FILE` says."""

from __future__ import annotations

import os
import subprocess
import sys
import time

if __name__ == "__main__":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(os.environ["STUCK_WORKER_PID_FILE"], "w") as out:
        out.write(str(child.pid))
    time.sleep(60)
