-- 0060_qa_adapter: an answer records the adapter it came from, as a caption does (captions.adapter_id): ''
-- for the model's own adapter, else a fine-tuned adapter's id. Earlier answers came from the model's own.
ALTER TABLE qa_messages ADD COLUMN adapter_id TEXT NOT NULL DEFAULT '';
