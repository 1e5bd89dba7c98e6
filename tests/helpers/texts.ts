/**
 * The ten-sentence English paragraph that the benches (host, TTFA, fairness) and the text tests
 * speak: ordinary sentences of 8-12 words, some with a comma, so every engine and every split
 * rule sees realistic input, and figures from different benches are about the same text.
 */
export const TEN_SENTENCES = [
  "The committee met on Tuesday to review the proposal in detail.",
  "Several members raised concerns about the budget and the schedule.",
  "After a long discussion, they agreed to ask for a revised estimate.",
  "The engineers promised an answer within two weeks.",
  "Meanwhile, the pilot project will continue as planned.",
  "Early results from the field trials look encouraging.",
  "Battery life improved by almost thirty percent over the previous model.",
  "Users also reported fewer dropped connections in crowded places.",
  "A final decision is expected at the next quarterly meeting.",
  "Until then, the team will keep collecting feedback from customers.",
] as const;

/** The ten sentences as one paragraph. */
export const PARAGRAPH = TEN_SENTENCES.join(" ");
