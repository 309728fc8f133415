// Renting with the visitor's own wallet (EIP-1193 window.ethereum): the server prepares the
// transaction and explains it, the wallet signs and sends it, the server reports what it did.

import { api } from "./api.js";
import { formatEth } from "./amounts.js";

/** The injected wallet, or null when the browser has none. */
export function wallet() {
  return typeof window.ethereum?.request === "function" ? window.ethereum : null;
}

/** The wallet's selected account, asking the visitor to connect one if none is. */
export async function connect() {
  const eth = wallet();
  if (!eth) throw new Error("no browser wallet");
  const accounts = await eth.request({ method: "eth_requestAccounts" });
  if (!accounts?.length) throw new Error("the wallet shared no account");
  return accounts[0];
}

/** Checks that the wallet is on the market's chain; asks it to switch once if not. */
export async function checkChain(expected) {
  const eth = wallet();
  const current = async () => BigInt(await eth.request({ method: "eth_chainId" }));
  if ((await current()) === BigInt(expected)) return;
  try {
    await eth.request({
      method: "wallet_switchEthereumChain",
      params: [{ chainId: "0x" + BigInt(expected).toString(16) }],
    });
  } catch {
    // the wallet does not know the chain, or the visitor said no: reported below
  }
  const now = await current();
  if (now !== BigInt(expected)) {
    throw new Error(
      `your wallet is on chain ${now}, and this market is on chain ${expected}: ` +
        "switch networks in the wallet, then try again",
    );
  }
}

/** POST /v1/transactions/prepare for a rent. */
export function prepareRent(from, listingId, duration) {
  return api("v1/transactions/prepare", {
    method: "POST",
    body: { from, call: "rent", args: { listing_id: listingId, duration } },
  });
}

/** Rows of [name, display] for a prepared transaction's amounts. */
export function amountRows(prepared) {
  const names = {
    quote: "Quote",
    escrow: "Into escrow",
    excess: "Credited back at once",
    refund_per_unit: "Back per unused unit",
    refund_at_half: "Back if ended halfway",
    max_gas_fee: "Gas, at most",
  };
  return Object.entries(prepared.amounts)
    .filter(([name, amount]) => name !== "excess" || amount.wei !== "0")
    .map(([name, amount]) => [names[name] ?? name, formatEth(amount.wei)]);
}

/** Send a prepared transaction from the wallet and wait for what it did (a rent: the rental). */
export async function send(prepared, onStatus) {
  const eth = wallet();
  const tx = prepared.transaction;
  // The wallet keeps its own nonce and may price gas afresh; what it signs is its own to show.
  // The chain id goes with it: a wallet switched to another network since the check refuses
  // to sign, rather than paying this marketplace's address there.
  const fields = [
    "from", "to", "data", "value", "gas", "maxFeePerGas", "maxPriorityFeePerGas", "chainId",
  ];
  const params = Object.fromEntries(fields.filter((k) => k in tx).map((k) => [k, tx[k]]));
  onStatus("Waiting for your wallet to sign…");
  const hash = await eth.request({ method: "eth_sendTransaction", params: [params] });
  onStatus(`Sent (${hash.slice(0, 10)}…); waiting for a block…`);
  for (;;) {
    const outcome = await api(`v1/transactions/${hash}?wait=true&timeout=30`);
    if (outcome.mined) return outcome;
  }
}
