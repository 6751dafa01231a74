-- Wallet transactions are shown with an id derived from the posting's sequence number by a keyed
-- permutation (services/api/src/billing/public_ids.rs), so ids reveal neither the platform's nor
-- another tenant's volume. The key is per tenant and never leaves the server. tenants is a small
-- table: the rewrite for the volatile default is instant.
ALTER TABLE tenants ADD COLUMN posting_id_key uuid NOT NULL DEFAULT gen_random_uuid();
