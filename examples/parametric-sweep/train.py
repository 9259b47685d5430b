#!/usr/bin/env python3
"""A stand-in training program: knows nothing about Batch; reads its hyper-parameters from the command line and
writes one metrics file. (Replace with your own; the sweep and the plumbing stay the same.)"""
import argparse
import json
import math

ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--lr", type=float, required=True)
ap.add_argument("--epochs", type=int, default=20)
args = ap.parse_args()
loss = 1.0
for epoch in range(args.epochs):  # a made-up, deterministic loss curve
    loss = loss * (1 - min(0.9, args.lr * 10)) + 0.01 * math.sin(args.seed + epoch) ** 2
name = f"metrics-s{args.seed}-lr{args.lr}.json"
with open(name, "w") as out:
    json.dump({"seed": args.seed, "lr": args.lr, "epochs": args.epochs, "loss": round(loss, 6)}, out)
print(f"{name}: loss {loss:.6f}")
