"""The small numeric reader of MATPOWER .m cases shared by the bench peers (numeric matrices only;
independent of the TypeScript reader under test)."""
import re

import numpy as np


def read_matrix(text, name):
    """mpc.<name> = [ ... ]; as a 2-D array (comments, commas, Inf handled)."""
    match = re.search(r"mpc\." + name + r"\s*=\s*\[(.*?)\];", text, re.S)
    rows = []
    for line in match.group(1).split("\n"):
        line = line.split("%")[0].strip().rstrip(";").strip()
        if line:
            rows.append([float(x) for x in line.replace(",", " ").replace("Inf", "inf").split()])
    return np.array(rows)


def read_base_mva(text):
    return float(re.search(r"mpc\.baseMVA\s*=\s*([\d.]+)", text).group(1))
