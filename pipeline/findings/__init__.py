"""What a finding is, written once: its id, the cell grammar of the review's table, the record."""
