/**
 * transaction_v2.API, minimal and honest: Sluice does not defer requests into transactions, so
 * it never has one. Listing answers an empty list; inspecting, finishing or deleting an id
 * answers UNIMPLEMENTED ("transaction <id> not found: ..."); DeleteAll has nothing to delete;
 * StartTransaction and BatchTransaction answer UNIMPLEMENTED, and any call made inside a transaction is refused
 * (registry.ts), so no client believes a write was deferred when it was not.
 */
import { API_PREFIX } from '../api/types.js';
import { SluiceError } from '../errors/index.js';
import type { GrpcRegistry } from './registry.js';

interface TransactionRef {
  transaction: { id: string } | null;
}

const WHY = 'Sluice does not run transactions; send the requests one by one (each is atomic on its own)';

function notFound(req: TransactionRef): SluiceError {
  const id = req.transaction?.id ?? '';
  return new SluiceError('NOT_IMPLEMENTED', `transaction ${id} not found: ${WHY}`, { details: { transaction: id } });
}

export function registerTransaction(registry: GrpcRegistry): void {
  const any = { route: `GET ${API_PREFIX}/auth/whoami` } as const;
  registry
    .service('transaction_v2/transaction.proto', 'transaction_v2.API', { allowTransaction: true })
    .notServed('StartTransaction', WHY)
    .unary('ListTransaction', () => any, async () => ({ transaction_info: [] }))
    .unary<TransactionRef, never>('InspectTransaction', () => any, async (req) => {
      throw notFound(req);
    })
    .unary<TransactionRef, never>('FinishTransaction', () => any, async (req) => {
      throw notFound(req);
    })
    .unary<TransactionRef, never>('DeleteTransaction', () => any, async (req) => {
      throw notFound(req);
    })
    .unary('DeleteAll', () => any, async () => ({}));
}
