/** Serving: the OpenAI-compatible API with per-request voucher payment and attribution in every response. */
export { createServeExtension, type ServeOptions } from "./extension.ts";
export { DeployedModels, modelName, type DeployedModel, type ServedModelConfig } from "./deployed-models.ts";
export { PaymentGate, protocolPaymentChain, type PaymentChain } from "./payment-gate.ts";
export { VoucherStore, type AcceptedVoucher } from "./voucher-store.ts";
export { VOUCHER_HEADER, VOUCHER_TYPES, formatVoucherHeader, parseVoucherHeader, recoverVoucherSigner, signVoucher, type Voucher, type VoucherDomain } from "./voucher.ts";
export { requestCost, defaultMaxTokens } from "./pricing.ts";
export { publishAdapter, publishAttributionIndex, ADAPTER_ARTIFACT_SCHEMA, ATTRIBUTION_INDEX_ARTIFACT_SCHEMA } from "./artifacts.ts";
export type { TributaryField } from "./attribution-service.ts";
export { parseOpenAiRequest, type ParsedRequest } from "./openai-request.ts";
export { upstreamBackend, localBackend, upstreamModelName, type UpstreamSettings, type GenerationBackend } from "./upstream.ts";
