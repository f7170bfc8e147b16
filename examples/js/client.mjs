// optrollup from Node.js with ethers v6: an unchanged ethers Wallet deposits on the L1, signs an EIP-712
// Order with the domain and types served by GET /v1/config, posts it, checks that the server's orderHash
// is the digest ethers computes itself, reads the order back and cancels it (a signed Cancel).
//
//   cd examples/js && npm install && node client.mjs
//
// Environment: OPTROLLUP_API (default http://127.0.0.1:8080), OPTROLLUP_L1 (default http://127.0.0.1:8545).
// Uses dev account 0, anvil's well-known key, which the devnet funds on L1 (docs/operations.md, section 8).
import { ethers } from "ethers";

const API = process.env.OPTROLLUP_API ?? "http://127.0.0.1:8080";
const L1 = process.env.OPTROLLUP_L1 ?? "http://127.0.0.1:8545";
const DEV_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function http(method, url, body) {
  let res;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new Error(`${method} ${url}: cannot connect (${e.cause?.message ?? e.message}): is the devnet running?`);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${url}: HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status}: ${text.slice(0, 600)}`);
  return json;
}

const get = (url) => http("GET", url);
const post = (url, body) => http("POST", url, body);

// A list endpoint's items, whether the answer is a bare array or {"<name>": [...]}.
function items(answer, name) {
  if (Array.isArray(answer)) return answer;
  check(answer && Array.isArray(answer[name]), `expected a list of ${name}, got ${JSON.stringify(answer).slice(0, 300)}`);
  return answer[name];
}

async function waitFor(what, seconds, fn) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    check(Date.now() < deadline, `timed out after ${seconds}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function ok(message) {
  console.log(`ok: ${message}`);
}

async function main() {
  const wallet = new ethers.Wallet(DEV_KEY_0);
  console.log(`ethers ${ethers.version}, wallet ${wallet.address}, API ${API}, L1 ${L1}`);

  // ---- the rollup's EIP-712 domain and types, from the server ----
  const config = await get(`${API}/v1/config`);
  check(config.domain && config.domain.verifyingContract, `GET /v1/config has no domain: ${JSON.stringify(config).slice(0, 300)}`);
  check(config.types && Array.isArray(config.types.Order),
        "GET /v1/config has no types.Order: clients cannot sign orders without guessing the type (a bug to report)");
  check(Number(config.domain.chainId) === Number(config.chainId), "config.domain.chainId differs from config.chainId");
  ok(`L2 chain id ${config.chainId}, domain ${JSON.stringify(config.domain)}`);

  // ---- deposit 1000 USDC on the L1, signed by the same wallet under the L1 domain ----
  const l1config = await get(`${L1}/l1/v1/config`);
  check(l1config.types && Array.isArray(l1config.types.Deposit), "GET /l1/v1/config has no types.Deposit");
  const before = BigInt((await get(`${API}/v1/accounts/${wallet.address}`)).collateral);
  const l1account = await get(`${L1}/l1/v1/accounts/${wallet.address}`);
  const deposit = { sender: wallet.address, recipient: wallet.address, amount: "1000000000", nonce: String(l1account.nonce) };
  const depositTypes = { Deposit: l1config.types.Deposit };
  const depositSig = await wallet.signTypedData(l1config.domain, depositTypes, deposit);
  const action = await post(`${L1}/l1/v1/actions`, { type: "deposit", action: deposit, signature: depositSig });
  check(action.hash === ethers.TypedDataEncoder.hash(l1config.domain, depositTypes, deposit),
        `the L1's action hash ${action.hash} is not the EIP-712 digest ethers computes`);
  ok(`deposit accepted by the L1 in block ${action.block} (inbox message ${action.result?.inboxIndex})`);
  const credited = await waitFor("the deposit to be credited on L2", 60, async () => {
    const c = BigInt((await get(`${API}/v1/accounts/${wallet.address}`)).collateral);
    return c >= before + 1_000_000_000n ? c : null;
  });
  ok(`credited on L2: collateral ${before} -> ${credited} micro-USDC`);

  // ---- an order, signed with signTypedData over the types from /v1/config ----
  const instruments = items(await get(`${API}/v1/instruments`), "instruments");
  const call = instruments.find((i) => i.isCall && i.status === "active");
  check(call, "GET /v1/instruments lists no active call");
  const orderTypes = { Order: config.types.Order };
  const order = {
    account: wallet.address,
    instrument: call.id,
    isBuy: true,
    quantity: "1000000", // one contract (6 decimals)
    limitPrice: "500000", // 0.5 USDC: a low bid that rests on the book
    maxFee: String(config.feeSchedule.takerFee),
    nonce: BigInt.asUintN(64, BigInt(ethers.hexlify(ethers.randomBytes(8)))).toString(),
    expiry: Math.floor(Date.now() / 1000) + 3600,
    flags: 1, // post-only (config.orderFlags.postOnly)
  };
  const signature = await wallet.signTypedData(config.domain, orderTypes, order);
  check(ethers.verifyTypedData(config.domain, orderTypes, order, signature) === wallet.address, "ethers cannot verify its own signature");
  const localHash = ethers.TypedDataEncoder.hash(config.domain, orderTypes, order);

  const ack = await post(`${API}/v1/orders`, { order, signature });
  check(typeof ack.orderHash === "string" && typeof ack.status === "string",
        `POST /v1/orders must answer {orderHash, status}, got ${JSON.stringify(ack)}`);
  check(ack.orderHash === localHash, `server orderHash ${ack.orderHash} != ethers TypedDataEncoder.hash ${localHash}`);
  check(ack.status === "open", `a post-only bid at 0.5 USDC should rest on the book, got status ${ack.status}`);
  ok(`order ${ack.orderHash} on ${call.name}: ${ack.status}; the server's orderHash equals ethers' TypedDataEncoder.hash`);

  const view = await get(`${API}/v1/orders/${ack.orderHash}`);
  check(view.orderHash === localHash && view.status === "open", `GET /v1/orders/${ack.orderHash}: ${JSON.stringify(view)}`);
  for (const k of Object.keys(order))
    check(String(view.order[k]) === String(order[k]), `GET /v1/orders/{hash}: field ${k} is ${view.order[k]}, signed ${order[k]}`);
  ok("GET /v1/orders/{hash} returns the signed fields unchanged");
  const mine = items(await get(`${API}/v1/orders?account=${wallet.address}&status=open`), "orders");
  check(mine.some((o) => o.orderHash === localHash), "GET /v1/orders?account=&status=open does not list the order");
  const book = await get(`${API}/v1/orderbook/${call.id}`);
  check(book.bids.some((l) => l.price === order.limitPrice), `the order book has no bid at ${order.limitPrice}: ${JSON.stringify(book)}`);
  ok("the order is listed for the account and rests in the order book");

  // ---- cancel it: a Cancel signed the same way ----
  const cancel = { account: wallet.address, orderHash: localHash };
  const cancelSig = await wallet.signTypedData(config.domain, { Cancel: config.types.Cancel }, cancel);
  const cancelled = await post(`${API}/v1/cancels`, { cancel, signature: cancelSig });
  check(cancelled.status === "cancelled", `POST /v1/cancels: ${JSON.stringify(cancelled)}`);
  check((await get(`${API}/v1/orders/${localHash}`)).status === "cancelled", "the order is not cancelled after POST /v1/cancels");
  ok("cancelled with a signed Cancel");

  // ---- a signature for another chain is refused, with the API's error shape ----
  const otherDomain = { ...config.domain, chainId: Number(config.domain.chainId) + 1 };
  const wrongSig = await wallet.signTypedData(otherDomain, orderTypes, { ...order, nonce: "1" });
  const res = await fetch(`${API}/v1/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ order: { ...order, nonce: "1" }, signature: wrongSig }),
  });
  const err = await res.json();
  check(res.status >= 400 && res.status < 500 && err.error && err.error.code && err.error.message,
        `an order signed for chain ${otherDomain.chainId} must be refused with a 4xx {error: {code, message}}, got ${res.status} ${JSON.stringify(err)}`);
  ok(`an order signed for chain id ${otherDomain.chainId} is refused: ${res.status} ${err.error.code}`);

  console.log("js client: every step checked");
}

main().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
