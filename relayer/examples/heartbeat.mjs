// A browser dApp's heartbeat, signed with viem (EIP-712) and posted to the relayer.
//
//   npm ci   # at the repository root: installs viem
//   node relayer/examples/heartbeat.mjs --relayer http://127.0.0.1:8080 --chain-id 31337 \
//     --escrow 0x… --session 1 --role student --key 0x<session key> [--seq 1]
//
// In a browser the same code runs with the session key the app generated and
// registered on chain (`studentKey` at open, `tutorKey` at start), once every 5 s.
// Prints the relayer's JSON reply; exits 1 if the heartbeat was refused.
import { parseArgs } from "node:util";
import { privateKeyToAccount } from "viem/accounts";

const { values: args } = parseArgs({
  options: {
    relayer: { type: "string" },
    "chain-id": { type: "string" },
    escrow: { type: "string" },
    session: { type: "string" },
    role: { type: "string" },
    key: { type: "string" },
    seq: { type: "string", default: String(Date.now()) },
  },
});
for (const name of ["relayer", "chain-id", "escrow", "session", "role", "key"]) {
  if (!args[name]) {
    console.error(`missing --${name}`);
    process.exit(2);
  }
}
if (args.role !== "student" && args.role !== "tutor") {
  console.error("--role is student or tutor");
  process.exit(2);
}

// The relayer's EIP-712 schema (relayer/README.md, "POST /v1/heartbeat").
const domain = {
  name: "Minuto Heartbeat",
  version: "1",
  chainId: Number(args["chain-id"]),
  verifyingContract: args.escrow,
};
const types = {
  Heartbeat: [
    { name: "session", type: "uint256" },
    { name: "role", type: "uint8" },
    { name: "seq", type: "uint64" },
    { name: "sentAt", type: "uint64" },
  ],
};

const sessionKey = privateKeyToAccount(args.key);
const session = BigInt(args.session);
const role = args.role === "student" ? 0 : 1;
const seq = BigInt(args.seq);
const sentAt = BigInt(Math.floor(Date.now() / 1000));
const signature = await sessionKey.signTypedData({
  domain,
  types,
  primaryType: "Heartbeat",
  message: { session, role, seq, sentAt },
});

const res = await fetch(`${args.relayer}/v1/heartbeat`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  // seq and sent_at fit in a JSON number (below 2^53) for any real clock and counter.
  body: JSON.stringify({
    session: session.toString(),
    role: args.role,
    seq: Number(seq),
    sent_at: Number(sentAt),
    signature,
  }),
});
const reply = await res.json();
console.log(JSON.stringify({ status: res.status, ...reply }));
process.exit(res.ok ? 0 : 1);
