"""Files gpubench writes and reads: safe names, no link followed, atomic writes, JSON in and out."""
