"""The local stack of CONTRACT §8: everything `template.yaml` declares, on this machine, without
Docker or an AWS account."""
