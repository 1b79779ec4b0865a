export { createPaymentConsumer } from "./payment-consumer.ts";
export {
  requestAuthorization,
  requestCapture,
  requestVoid,
  type Settlement,
  settleAuthorization,
} from "./payment-steps.ts";
export {
  type AuthorizeRequest,
  type AuthorizeResult,
  type PaymentHandle,
  type PaymentProcessor,
  PaymentProcessorRequestError,
  PaymentProcessorUnavailableError,
  type ProcessorRecord,
} from "./processor.ts";
export { withDeadline } from "./processor-deadline.ts";
export {
  AUTHENTICATION_FAILED_CODE,
  createSimulatedProcessor,
  DECLINE_CODE,
  DECLINED_TOKEN,
  type SimulatedProcessor,
  type SimulatedProcessorOptions,
  SLOW_TOKEN,
  THREE_D_SECURE_TOKEN,
} from "./simulated-processor.ts";
export { createStripeProcessor, type StripeProcessorOptions } from "./stripe-processor.ts";
