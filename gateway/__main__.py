from gateway.app import create_app
from gateway.settings import Settings
from shared.serve import serve

serve(create_app, Settings(), name="gateway")
