"""The local stack of docs/api.md §8: everything `template.yaml` declares, on this machine, without
Docker or an AWS account."""
