"""Pictures for the people around the pump: schedule, library review and diff, log report."""
