# The pump through a whole infusion (DESIGN.md, "Contract: the pump through a
# whole infusion"; docs/therapy.md): actions, course record, state machine,
# persistence and the device shell.
