"""The nightly regression job: run, judge against this machine's last good runs, confirm, report."""
