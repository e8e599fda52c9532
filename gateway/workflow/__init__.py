"""The request lifecycle: submit, the Task state machine, the answer and its return."""
