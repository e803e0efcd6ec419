// The console's script: not written yet (docs/STATUS.md, issue 17).
