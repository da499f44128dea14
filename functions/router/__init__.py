"""The router: serves the control ("mock read"), routes canary users, tees shadow traffic."""
