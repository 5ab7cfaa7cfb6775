"""Reports: the paper's tables rebuilt from what this suite measured, figures and the fidelity report."""
