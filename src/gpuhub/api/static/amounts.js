// Wei as people read it, exactly: BigInt only, never a float for money.

const WEI_PER_ETH = 10n ** 18n;
export const UNIT_SECONDS = { MINUTE: 60n, HOUR: 3600n, DAY: 86400n };

/** "50000000000000000" -> "0.05 ETH"; every digit kept, as gpuhub.format_wei prints it. */
export function formatEth(wei) {
  const value = BigInt(wei);
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  const whole = abs / WEI_PER_ETH;
  const fraction = (abs % WEI_PER_ETH).toString().padStart(18, "0").replace(/0+$/, "");
  return `${sign}${whole}${fraction ? "." + fraction : ""} ETH`;
}

/** A listing's price per hour in wei (rounded down where a daily price does not divide). */
export function perHour(price, unit) {
  return (BigInt(price) * 3600n) / UNIT_SECONDS[unit];
}

/** An address shortened for a table: 0x1234…abcd. */
export function shortAddress(address) {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}
