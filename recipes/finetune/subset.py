"""Write a seeded sample of a manifest's utterances up to a duration: the CPU-sized subsets
of the fine-tuning recipes. Usage: subset.py IN.jsonl OUT.jsonl COUNT MAX_SECONDS"""

import json
import random
import sys

source, target, count, max_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with open(source, encoding="utf-8") as handle:
    lines = [line for line in handle if line.strip()
             and json.loads(line)["duration"] <= max_seconds]
random.Random(0).shuffle(lines)
with open(target, "w", encoding="utf-8") as handle:
    handle.writelines(lines[:count])
print(f"{target}: {min(count, len(lines))} of {len(lines)} utterances up to {max_seconds:g} s")
