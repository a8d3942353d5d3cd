"""Runs every test_* function of tests/integration/test_*.py; one line each."""
import importlib.util
import os
import sys
import time
import traceback

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
only = sys.argv[1:]
passed = failed = skipped = 0
for name in sorted(os.listdir(here)):
    if not (name.startswith("test_") and name.endswith(".py")):
        continue
    spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(here, name))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for fn in [getattr(mod, n) for n in dir(mod) if n.startswith("test_")]:
        label = "%s.%s" % (name[:-3], fn.__name__)
        if only and not any(o in label for o in only):
            continue
        t0 = time.monotonic()
        try:
            fn()
            passed += 1
            print("[       OK ] %s (%.1f s)" % (label, time.monotonic() - t0), flush=True)
        except Exception as e:
            if type(e).__name__ == "Skip":
                skipped += 1
                print("[ SKIPPED  ] %s: %s" % (label, e), flush=True)
                continue
            failed += 1
            print("[  FAILED  ] %s: %s" % (label, e), flush=True)
            traceback.print_exc(limit=3)
print("integration: %d passed, %d failed%s" % (passed, failed,
                                               ", %d skipped" % skipped if skipped else ""))
sys.exit(1 if failed else 0)
