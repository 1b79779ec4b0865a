export { createPaymentConsumer, paymentConsumer } from "./payment-consumer.ts";
export { authorizePayment, capturePayment, type Settlement, voidPayment } from "./payment-steps.ts";
export {
  type AuthorizeRequest,
  type AuthorizeResult,
  type PaymentProcessor,
  PaymentProcessorRequestError,
  PaymentProcessorUnavailableError,
} from "./processor.ts";
export {
  createSimulatedProcessor,
  DECLINE_CODE,
  DECLINED_TOKEN,
  type SimulatedProcessor,
  type SimulatedProcessorOptions,
  simulatedProcessorOptionsFromEnv,
} from "./simulated-processor.ts";
